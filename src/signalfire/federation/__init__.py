"""Federation: this instance's exchange talking to other Signalfire instances and TAXII 2.1 servers."""
