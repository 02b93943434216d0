"""The domains agentgym plays, each a folder with its tools, data access, users, agents and reward:
`sgd` (Schema-Guided Dialogue), `tau2` (tau2-bench's airline, retail, telecom, mock) and `traces`
(your own recorded conversations). `domains/README.md` says what a folder holds."""
