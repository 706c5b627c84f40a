// core/inspect: what the training page's views show about a model, computed
// from the model and plain data (no DOM). Pure math (topk, spans, pca) has no
// tfjs; the rest runs forward passes. Imported by the training worker
// (worker/views.ts) and by tests; the page imports only ./types.

export * from './types';
export { topK, softmax } from './topk';
export { surprisingSpans } from './spans';
export { pca2 } from './pca';
export { nextChars, contextTokens } from './nextchars';
export { attentionMaps } from './attention';
export { scoreText, MAX_SCORE_CHARS } from './score';
export { lossByPosition } from './positions';
export { embeddingMap } from './embedding';
export { deviceReport, estimateSpeed, matmulGflops } from './device';
