"""The Ceph layer: `client` owns librados; one module per resource holds that resource's calls."""
