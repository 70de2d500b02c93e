"""The application: wiring, adapters, command line."""
