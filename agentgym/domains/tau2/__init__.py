"""tau2-bench's airline, retail, telecom and mock domains, in-process (`Tau2Env`).

Import `agentgym.domains.tau2.env` for the environment; this package imports nothing heavy."""
DOMAINS = ("airline", "retail", "telecom", "mock")
