"""From a characterized trace to a benchmark workload, with measured fidelity.

`generate.arrivals` fits arrival models that keep a trace's burstiness (rate curve,
inter-arrival law, IDC curve) and samples them at any rate scale and duration;
`generate.fidelity` scores a generated workload against its source on the statistics the
report computes, against tolerances written down before the models were tuned;
`generate.compare` scores any two traces of a lake the same way (`traces compare-workloads`).
Request contents, output formats and `traces generate` build on these.
"""
