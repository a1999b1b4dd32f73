/** A container image by repository and tag. */
export interface ContainerImage {
  /** Repository: `gcr.io/PROJECT_ID/greeter-server` from a registry, or `greeter-server` for a locally built image. */
  readonly repository: string;
  /** Tag, such as the package version. */
  readonly tag: string;
  /**
   * `Never` for images built into the node's engine (Docker Desktop); `IfNotPresent` for immutable registry tags.
   * @default 'IfNotPresent'
   */
  readonly pullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
}

/** What a container asks for (scheduling) and may not exceed (throttled CPU, OOM-killed memory). */
export interface ContainerResources {
  /** What the scheduler reserves on a node for the container: CPU such as `100m`, memory such as `128Mi`. */
  readonly requests: { readonly cpu: string; readonly memory: string };
  /** What the container may use at most: CPU above it is throttled, memory above it gets the container OOM-killed. */
  readonly limits: { readonly cpu: string; readonly memory: string };
}
