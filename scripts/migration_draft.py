"""Print a draft Alembic upgrade/downgrade for one domain's tables (those whose names start with PREFIX).

Several domains change models at once, so a plain autogenerate would mix their tables. This compares
the models with a scratch database migrated to head and keeps only PREFIX's tables. The output is a
draft: read it, then paste it into that domain's migration file.

    .venv/bin/python scripts/migration_draft.py response_
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from alembic.autogenerate import produce_migrations, render_python_code
from alembic.migration import MigrationContext

from signalfire.core.db import migrate
from signalfire.core.db.all_models import load
from signalfire.core.db.session import make_engine


def main(prefix: str) -> None:
    metadata = load().metadata
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'draft.db'}")
        migrate.upgrade(engine)

        def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
            table = obj if type_ == "table" else getattr(obj, "table", None)
            table_name = name if type_ == "table" else getattr(table, "name", "")
            return bool(table_name and table_name.startswith(prefix))

        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn,
                opts={
                    "include_object": include,
                    "render_as_batch": True,
                    "compare_type": True,
                    "target_metadata": metadata,
                },
            )
            script = produce_migrations(ctx, metadata)
        print("def upgrade() -> None:")
        print(render_python_code(script.upgrade_ops, migration_context=ctx))
        print("\n\ndef downgrade() -> None:")
        print(render_python_code(script.downgrade_ops, migration_context=ctx))
        engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else sys.exit("usage: migration_draft.py TABLE_PREFIX"))
