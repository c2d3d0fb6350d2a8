from vwwdeploy.cli import main

raise SystemExit(main())
