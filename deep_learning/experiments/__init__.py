"""The runners behind the ``my_tests`` scripts: one function per experiment
that builds, trains and reports, with every hyper-parameter an explicit
argument; and the helpers of study grids (``study``)."""
