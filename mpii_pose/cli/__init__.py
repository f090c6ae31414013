"""The `mpii-pose` command: `main` parses and dispatches, one module per subcommand besides."""
