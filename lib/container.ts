/** A container image by repository and tag. */
export interface ContainerImage {
  /** Repository: `registry.example.com/team/payments` from a registry, or `payments` for a locally built image. */
  readonly repository: string;
  /** Tag, such as the release version (`1.4.2`). */
  readonly tag: string;
  /**
   * `Never` for images built into the node's engine (Docker Desktop); `IfNotPresent` for immutable registry tags.
   * @default 'IfNotPresent'
   */
  readonly pullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
}

/** What a container asks for (scheduling) and may not exceed (throttled CPU, OOM-killed memory). */
export interface ContainerResources {
  /** What the scheduler reserves on a node for the container. */
  readonly requests: ResourceRequests;
  /**
   * What the container may use at most; each limit at least its request.
   * @default - none: the container may use what the node has free (no CPU throttling; memory up to the node's)
   */
  readonly limits?: ResourceLimits;
}

/** Amounts the scheduler reserves for a container. */
export interface ResourceRequests {
  /** CPU, such as `100m` (a tenth of a core). */
  readonly cpu: string;
  /** Memory, such as `128Mi`. */
  readonly memory: string;
}

/** Amounts a container may not exceed. */
export interface ResourceLimits {
  /**
   * CPU above it is throttled.
   * @default - none: no throttling (the request still sets the container's share of a busy node)
   */
  readonly cpu?: string;
  /**
   * Memory above it gets the container OOM-killed.
   * @default - none
   */
  readonly memory?: string;
}

/** A port the container listens on besides its main one, such as metrics for Prometheus to scrape from the pods. */
export interface ContainerPort {
  /** Name of the container port (an IANA service name: at most 15 lower-case letters, digits and "-"), such as `metrics`. */
  readonly name: string;
  /** The port number. */
  readonly port: number;
  /**
   * The protocol.
   * @default 'TCP'
   */
  readonly protocol?: 'TCP' | 'UDP' | 'SCTP';
}

/** A HorizontalPodAutoscaler on CPU: how many pods, and the CPU use (of the pods' CPU request) to keep them at. */
export interface WorkloadAutoscaling {
  /** Most pods. */
  readonly maxReplicas: number;
  /**
   * Fewest pods; two keep the service up while the PodDisruptionBudget lets one go.
   * @default 2
   */
  readonly minReplicas?: number;
  /**
   * Average CPU use to scale at, in percent of the pods' CPU request.
   * @default 80
   */
  readonly targetCpuUtilization?: number;
}
