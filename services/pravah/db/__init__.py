"""Database: SQLAlchemy 2 async models, engine/session factory, migrations."""
