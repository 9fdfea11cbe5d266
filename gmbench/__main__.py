from gmbench.cli.app import main

main()
