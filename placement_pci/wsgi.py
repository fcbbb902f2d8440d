"""``application`` for gunicorn (settings from the environment)."""
from placement_pci.app import create_app

application = create_app()
