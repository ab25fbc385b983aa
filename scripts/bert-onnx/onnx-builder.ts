import { endianness } from 'node:os';
import onnxProto from 'onnx-proto';
import { type onnx as Onnx } from 'onnx-proto';

// onnx-proto is CommonJS protobufjs static code: its namespace hangs off the default export.
const { onnx } = onnxProto;

/** ONNX stores raw tensor data little-endian; the typed arrays below are copied as they lie in memory. */
if (endianness() !== 'LE') {
  throw new Error('generate-bert-onnx writes raw tensor bytes and needs a little-endian host');
}

export type AttributeValue = number | readonly number[] | { readonly float: number };

/** An attribute value: a plain number is an INT, `{ float }` a FLOAT, an array an INTS. */
function attribute(name: string, value: AttributeValue): Onnx.IAttributeProto {
  const { AttributeType } = onnx.AttributeProto;
  if (typeof value === 'number') return { name, type: AttributeType.INT, i: value };
  if ('float' in value) return { name, type: AttributeType.FLOAT, f: value.float };
  return { name, type: AttributeType.INTS, ints: [...value] };
}

function rawBytes(data: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** A dimension: a number is fixed, a string is a symbolic `dim_param` such as "batch_size". */
export type Dim = number | string;

function valueInfo(name: string, elemType: number, dims: readonly Dim[]): Onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/**
 * Accumulates nodes, initialisers and graph inputs/outputs, and encodes them as an ONNX model.
 * Every node gets a unique name and a single output named after it, so graphs read well in Netron.
 */
export class GraphBuilder {
  readonly #nodes: Onnx.INodeProto[] = [];
  readonly #initializers: Onnx.ITensorProto[] = [];
  readonly #inputs: Onnx.IValueInfoProto[] = [];
  readonly #outputs: Onnx.IValueInfoProto[] = [];
  readonly #names = new Set<string>();
  #parameters = 0;

  /** Float elements of initialisers registered as learnable parameters. */
  get parameterCount(): number {
    return this.#parameters;
  }

  #claim(name: string): string {
    if (this.#names.has(name)) throw new Error(`duplicate ONNX value name "${name}"`);
    this.#names.add(name);
    return name;
  }

  input(name: string, elemType: 'int64' | 'float', dims: readonly Dim[]): string {
    this.#inputs.push(valueInfo(this.#claim(name), dataType(elemType), dims));
    return name;
  }

  output(name: string, elemType: 'int64' | 'float', dims: readonly Dim[]): void {
    if (!this.#names.has(name)) throw new Error(`graph output "${name}" is produced by no node`);
    this.#outputs.push(valueInfo(name, dataType(elemType), dims));
  }

  /** A float32 initialiser; `parameter` marks learnable weights for the parameter count. */
  float(name: string, dims: readonly number[], data: Float32Array, parameter = true): string {
    const expected = dims.reduce((a, b) => a * b, 1);
    if (data.length !== expected) throw new Error(`initialiser ${name}: ${data.length} values for dims [${dims}]`);
    this.#initializers.push({ name: this.#claim(name), dims: [...dims], dataType: dataType('float'), rawData: rawBytes(data) });
    if (parameter) this.#parameters += data.length;
    return name;
  }

  /** An int64 constant initialiser; `dims` of [] makes a scalar. */
  int64(name: string, dims: readonly number[], values: readonly number[]): string {
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    this.#initializers.push({ name: this.#claim(name), dims: [...dims], dataType: dataType('int64'), rawData: rawBytes(data) });
    return name;
  }

  /** Adds one node and returns the name of its (single) output, which is `output` or the node name. */
  node(opType: string, inputs: readonly string[], name: string, attributes: Record<string, AttributeValue> = {}, output?: string): string {
    const out = this.#claim(output ?? name);
    this.#nodes.push({
      name,
      opType,
      input: [...inputs],
      output: [out],
      attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)),
    });
    return out;
  }

  /** Encodes the model; `opset` is the default-domain operator set version. */
  encode(meta: { graphName: string; opset: number; producer: string; docString: string }): Uint8Array {
    const model: Onnx.IModelProto = {
      // IR version 8 is the one that pairs with opsets 16–17 (ONNX 1.11–1.12).
      irVersion: 8,
      opsetImport: [{ domain: '', version: meta.opset }],
      producerName: meta.producer,
      producerVersion: '1',
      docString: meta.docString,
      graph: {
        name: meta.graphName,
        node: this.#nodes,
        initializer: this.#initializers,
        input: this.#inputs,
        output: this.#outputs,
      },
    };
    return onnx.ModelProto.encode(model).finish();
  }
}

function dataType(kind: 'int64' | 'float'): number {
  return kind === 'float' ? onnx.TensorProto.DataType.FLOAT : onnx.TensorProto.DataType.INT64;
}
