// nanoGPT's checkpoint (ckpt.pt, written by its train.py with torch.save) and
// vocabulary (meta.pkl, written by its data/*/prepare.py), to and from a
// tabgpt checkpoint. No tfjs: the page converts an upload with it too.
//
// ckpt.pt = {
//   model:         state dict: tabgpt's parameter names and PyTorch layouts,
//                  plus lm_head.weight (tied: the same storage as wte), the
//                  causal-mask buffers transformer.h.<l>.attn.bias that
//                  model.py registers on PyTorch < 2.0, and an `_orig_mod.`
//                  prefix when the model was torch.compile'd
//   optimizer:     torch.optim.AdamW's state dict over nanoGPT's two groups
//                  (configure_optimizers: parameters with dim >= 2 decay,
//                  the rest do not, each in named_parameters order), per
//                  parameter index {step, exp_avg, exp_avg_sq}
//   model_args:    n_layer, n_head, n_embd, block_size, bias, vocab_size, dropout
//   iter_num, best_val_loss, config (train.py's settings)
// }
// meta.pkl = { vocab_size, itos: {id: char}, stoi: {char: id} }
//
// GELU: nanoGPT's MLP is nn.GELU(), the exact erf form; a tabgpt model may use
// GPT-2's tanh form (config.gelu). An import computes erf unless the file
// says otherwise (config.gelu = 'tanh', which an export records).
//
// nanogpt-args.ts: the model's arguments and parameters; nanogpt-export.ts and
// nanogpt-import.ts: the two directions.

export * from './nanogpt-args';
export * from './nanogpt-export';
export * from './nanogpt-import';
