from structurer.cli.main import main

main()
