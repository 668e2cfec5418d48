"""The labels execflow puts on every container (network, volume) it creates.

The runner sets them, its reaper and the API's environments endpoints find things by
them: which deployment (bus prefix), namespace, execution, step, attempt and worker
owns what.
"""

DEPLOYMENT_LABEL = "execflow.deployment"
EXECUTION_LABEL = "execflow.execution"
STEP_LABEL = "execflow.step"
ATTEMPT_LABEL = "execflow.attempt"
WORKER_LABEL = "execflow.worker"
# Whose execution it is; absent on what was made before namespaces, which is `default`'s.
NAMESPACE_LABEL = "execflow.namespace"
