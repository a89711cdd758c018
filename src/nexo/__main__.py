from nexo.cli import main

main()
