from parta.cli import app

app()
