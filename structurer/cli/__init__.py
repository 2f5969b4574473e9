"""The command line: thin typer commands over the functions of every package below it."""
