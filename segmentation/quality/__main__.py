"""`python -m segmentation.quality`: rewrite the committed GX suites from suites.py."""

from segmentation.quality.gate import main

raise SystemExit(main())
