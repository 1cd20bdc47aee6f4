"""tap-kustomer: a Singer tap for the Kustomer API, built with the Meltano Singer SDK."""
