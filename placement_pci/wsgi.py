"""``application`` for WSGI servers (uWSGI, mod_wsgi, gunicorn): settings
from the environment.  Like ``placement-pci serve``, loading it migrates
the embedded SQLite database, and refuses a PostgreSQL or MariaDB schema
behind this code's (run ``placement-pci db upgrade`` first), so many API
hosts starting at once never race migrations."""
from placement_pci.app import create_app
from placement_pci.db import migrations
from placement_pci.db.engine import Database
from placement_pci.settings import Settings

settings = Settings.load()
database = Database(settings.database_url, pool_size=settings.database_pool_size,
                    retries=settings.database_retries)
migrations.prepare_for_serving(database)
application = create_app(settings, database=database, migrate=False)
