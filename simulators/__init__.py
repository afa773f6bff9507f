"""Partner simulators (the sandbox): each speaks its partner's protocol on loopback, with faults on demand."""
