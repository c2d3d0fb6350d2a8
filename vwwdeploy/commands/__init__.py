"""One module per `vwwdeploy` subcommand (see vwwdeploy.cli.COMMANDS)."""
