/**
 * The Airlock SDK: what DAG files import as "airlock". It defines DAGs and tasks and does no I/O.
 */
export { dag, chain, isDag, isTask, isGroup, Dag, Task, type DagOptions, type DatasetSchedule, type Connectable } from "./dag.js";
export { group, TaskGroup, type GroupOptions } from "./group.js";
export { triggerDag, type TriggerDagOptions } from "./trigger-dag.js";
export {
  notify, type Notifier, type WebhookOptions, type EmailOptions, type Callback, type Callbacks, type CallbackContext,
  type CallbackEvent,
} from "./notify.js";
export {
  bash, fn, branch, empty, http, fileSensor, externalTaskSensor, isolated,
  type BashOptions, type FnOptions, type BranchOptions, type HttpOptions, type FileSensorOptions,
  type ExternalTaskSensorOptions, type IsolationOptions, type SensorOptions,
} from "./operators.js";
export {
  pipeline, node, type PipelineOptions, type FragmentOptions, type NodeOptions, type NodeContext, type PipelineNode,
  type Pipeline, type ExternalDependency,
} from "./pipeline.js";
export { type Catalog, type CatalogEntry, type DatasetType } from "./catalog.js";
export { container, type ContainerOptions, type ContainerMount } from "./container.js";
export { kubernetesPod, type KubernetesPodOptions, type SecretKeyRef, type SecretFiles } from "./kubernetes-pod.js";
export { python, type PythonOptions } from "./python.js";
export { timeSensor, httpSensor, type TimeSensorOptions, type HttpSensorOptions } from "./sensors.js";
export { DagDefinitionError, TaskSkipped, NotGrantedError } from "./errors.js";
export { parseDuration, type Duration } from "./duration.js";
export type * from "./types.js";
export type { OperatorKind, OperatorSpec } from "./operator-spec.js";
export { serializeDag, type SerializedDag, type SerializedTask, type SerializedPipeline } from "./serialized.js";
