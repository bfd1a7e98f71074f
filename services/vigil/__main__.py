from vigil.launch.cli import app

app()
