from nexo.cli import main

if __name__ == "__main__":  # (mapping workers import this module again)
    main()
