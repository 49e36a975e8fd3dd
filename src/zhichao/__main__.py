from zhichao.cli import main

main()
