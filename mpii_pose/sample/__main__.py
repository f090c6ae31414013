"""`python -m mpii_pose.sample OUT`: writes a synthetic manual directory (see `generator`)."""

from mpii_pose.sample.generator import main

main()
