from numbarl.cli import main

raise SystemExit(main())
