package bert

// Hidden returns the last hidden state [B, T, C] that the last Forward,
// Classify, ClassifyTokens or AnswerSpans call on ws computed (the encoder's
// output before any head), a view into ws valid until its next use — for
// callers that need both a head's logits and the hidden states of one pass,
// such as distillation's hidden-state loss. (nil before the first pass.)
func (ws *Workspace) Hidden() []float32 { return ws.x }
