"""CSV import (read, check, write in background chunks) and export (a background file for its creator)."""
