from tiewatch.cli import main

main()
