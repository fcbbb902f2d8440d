"""What runs on a compute host: reading its devices to report them."""
