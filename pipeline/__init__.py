"""claimwire pipeline: options, assembly and the command line."""
