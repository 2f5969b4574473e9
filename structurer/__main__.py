from structurer.cli.main import app

app(prog_name="structurer")
