from microaction.cli import main

raise SystemExit(main())
