// The data behind the training page's "see inside the model" views, as plain
// objects (no tensors): the worker computes them (core/inspect/*), posts them
// (worker/protocol.ts) and the page draws them (ui/views/*). No tfjs here, so
// the page may import these types.

/** One candidate next character and its probability. */
export interface CharProb {
  char: string;
  p: number;
}

/** The model's next-character distribution after a text. */
export interface NextChars {
  /** The context the model saw (the text's last blockSize characters). */
  context: string;
  /** The k most likely characters, most likely first. */
  top: CharProb[];
  /** Raw logits over the whole vocabulary (index = token id), for checking the bars. */
  logits: number[];
  /** The vocabulary, index = token id. */
  vocab: string[];
}

/** Attention weights of every layer and head for one window of text. */
export interface AttentionMaps {
  /** The window's characters (T of them): the rows (queries) and columns (keys). */
  chars: string[];
  /** [layer][head][query t][key s]: each row sums to 1, zero where s > t. */
  weights: number[][][][];
}

/** How well the model predicts each character of a text. */
export interface CharScore {
  char: string;
  /** The model's probability of this character given the text before it (null for the first). */
  p: number | null;
  /** Surprisal -log2 p in bits (null for the first character: no context to predict from). */
  bits: number | null;
  /** The 5 likeliest characters at this position. */
  top: CharProb[];
}

export interface Span {
  /** Start index (in characters) and length. */
  start: number;
  length: number;
  text: string;
  bits: number;
}

export interface TextScore {
  chars: CharScore[];
  /** Sum of bits over the scored characters (all but the first). */
  totalBits: number;
  /** Bits per scored character. */
  bpc: number;
  /** The most surprising spans, most surprising first, non-overlapping. */
  spans: Span[];
  /** Characters dropped from the end because the text was longer than the limit. */
  truncated: number;
}

/** Validation loss (nats) at each position 0..blockSize-1 of the context, over the evaluation batches. */
export interface LossByPosition {
  step: number;
  byPosition: number[];
  /** Their mean: the validation loss over the same batches. */
  mean: number;
}

/** A token embedding row projected to 2-D. */
export interface EmbeddingPoint {
  char: string;
  x: number;
  y: number;
}

export interface EmbeddingMap {
  step: number;
  points: EmbeddingPoint[];
  /** Share of the embedding variance the two components explain. */
  explained: [number, number];
}

/** What this machine's backend is and can do. */
export interface DeviceReport {
  backend: string;
  /** WebGPU adapter (null on other backends). */
  adapter: { vendor: string; architecture: string; device: string; description: string } | null;
  /** Of interest for training: shader-f16, subgroups, timestamp-query (present or not). */
  features: Record<string, boolean>;
  /** Key limits of the device (WebGPU), empty elsewhere. */
  limits: Record<string, number>;
  /** Measured float32 matmul rate, GFLOP/s. */
  matmulGflops: number;
  /** Size of the timed square matmul. */
  matmulSize: number;
}

/** Expected speed of a configuration, from a few timed steps on this backend. */
export interface SpeedEstimate {
  tokensPerSec: number;
  msPerStep: number;
  /** maxIters x msPerStep, in seconds (training only; evaluations add to it). */
  wallSeconds: number;
  /** Steps timed (after one untimed warm-up step). */
  timedSteps: number;
}

export const FEATURES_OF_INTEREST = ['shader-f16', 'subgroups', 'timestamp-query'] as const;
export const LIMITS_OF_INTEREST = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxStorageBuffersPerShaderStage',
] as const;
