"""`python -m mpii_pose.cli`: the `mpii-pose` command."""

import sys

from mpii_pose.cli.main import main

sys.exit(main())
