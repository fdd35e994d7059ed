/**
 * The parameter and optimizer-state half of `LanguageModel` and `TextClassifier`, the same for
 * every model: each delegates to the object that owns its weights and Adam moments
 * (`TfjsParameters` or `NativeParameters`).
 */
import type { OptimizerState } from './engine.js';
import type { TensorMap } from './safetensors.js';

export interface ParameterStore {
  read(): TensorMap;
  assign(tensors: TensorMap): void;
  optimizerState(): OptimizerState;
  setOptimizerState(state: OptimizerState): void;
  dispose(): void;
}

export abstract class ParameterOwner {
  protected abstract readonly parameters: ParameterStore;

  getParameters(): TensorMap {
    return this.parameters.read();
  }

  setParameters(parameters: TensorMap): void {
    this.parameters.assign(parameters);
  }

  getOptimizerState(): OptimizerState {
    return this.parameters.optimizerState();
  }

  setOptimizerState(state: OptimizerState): void {
    this.parameters.setOptimizerState(state);
  }

  dispose(): void {
    this.parameters.dispose();
  }
}
