/** A problem of the cluster's setup or data, reported as one line (never a stack trace). */
export class ClusterError extends Error {}
