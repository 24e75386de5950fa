#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = pravah_core::fuzzing::csv_bad_rows(data);
});
