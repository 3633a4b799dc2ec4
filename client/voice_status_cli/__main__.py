import sys

from voice_status_cli.main import main

sys.exit(main())
