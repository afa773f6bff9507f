"""The nameko service runtime: the only place that imports nameko. The core stays plain Python."""
