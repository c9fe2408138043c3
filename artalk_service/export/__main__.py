import sys

from artalk_service.export.cli import main

sys.exit(main())
