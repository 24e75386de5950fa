"""Pravah: uploads in, processed data out."""
