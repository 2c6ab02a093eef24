from zoo_cli import main

main()
