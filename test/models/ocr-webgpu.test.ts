import t from 'tap';
import { loadPaddleOcr } from '../../models/ocr/paddle-ocr.js';
import { renderText } from '../helpers/render-text.js';
import { hasWebgpu } from '../helpers/webgpu.js';

t.test('PaddleOCR on WebGPU reads what it reads on the CPU: the same lines, boxes and scores', async (t) => {
  if (!(await hasWebgpu(t))) return;
  const [cpu, gpu] = [await loadPaddleOcr({ intraOpThreads: 2 }), await loadPaddleOcr({ device: 'webgpu' })];
  t.teardown(async () => {
    await cpu.close();
    await gpu.close();
  });
  t.same(cpu.placement, { device: 'cpu' });
  t.match(gpu.placement, { device: 'webgpu', adapter: String });

  const image = await renderText(640, 160, [
    { text: 'WEBGPU PARITY', x: 30, y: 70 },
    { text: 'lavapipe 2026', x: 30, y: 135 },
  ]);
  const [onCpu, onGpu] = [await cpu.recognize(image), await gpu.recognize(image)];
  t.equal(onGpu.lines.length, onCpu.lines.length, 'detection finds the same lines');
  onCpu.lines.forEach((line, i) => {
    const other = onGpu.lines[i];
    t.equal(other?.text, line.text, `recognition reads "${line.text}" on both`);
    for (const key of ['x', 'y', 'width', 'height'] as const) {
      t.ok(Math.abs((other?.box[key] ?? Infinity) - line.box[key]) <= 1, `line ${i} box ${key} within a pixel`);
    }
    t.ok(Math.abs((other?.confidence ?? Infinity) - line.confidence) <= 1e-3, `line ${i} confidence within 1e-3`);
  });
});
