"""My work: what needs the signed-in person now, across the channels."""
