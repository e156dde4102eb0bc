import Testing
@testable import STPExplorer

// The curves move during an epoch, the first included: the full network's running loss and the
// subnets' running loss and top-1 are drawn at the epoch's current position.
@Suite struct CurvesPanelTests {
    /// Step 38 of 76 of the first epoch: nothing finished yet.
    static func firstEpoch() -> ExplorerSnapshot {
        var s = ExplorerFixtures.snapshot()
        s.curves = []
        s.epoch = 0
        s.step = 38
        s.runningLoss = 1.5
        s.runningSubnetLoss = 1.75
        s.runningSubnetTop1 = 0.625
        return s
    }

    @Test func theSubnetsRunningFiguresAreOnTheCurvesFromTheFirstEpoch() {
        let s = Self.firstEpoch()
        let loss = CurvesPanel.lossSeries(s), top1 = CurvesPanel.accuracySeries(s)
        #expect(loss[0].points.count == 1 && loss[0].points[0] == (0.5, 1.5))
        #expect(loss[1].name == "subnets" && loss[1].points.count == 1 && loss[1].points[0] == (0.5, 1.75))
        #expect(top1[1].name == "subnets train" && top1[1].points.count == 1 && top1[1].points[0] == (0.5, 0.625))
        #expect(top1[0].points.isEmpty, "the full network's test top-1 exists only after an epoch")
        let text = ExplorerFixtures.render(s, width: 120, height: 40).text
        // Side by side, each legend entry that does not fit whole is shown by its value alone.
        #expect(text.contains("━ 1.750") || text.contains("subnets 1.750"), "the legend shows the subnets' running loss")
        #expect(text.contains("━ 62.5%") || text.contains("subnets train 62.5%"), "and their running top-1")
    }

    @Test func afterAnEpochTheRunningPointFollowsTheFinishedOnes() {
        var s = ExplorerFixtures.snapshot()   // epochs 1 and 2 finished, step 17 of 76 of the third
        s.runningSubnetLoss = 1.6
        s.runningSubnetTop1 = 0.4
        let loss = CurvesPanel.lossSeries(s)[1].points, top1 = CurvesPanel.accuracySeries(s)[1].points
        #expect(loss.map(\.0) == [1, 2, 2 + 17.0 / 76] && loss.last!.1 == 1.6)
        #expect(top1.map(\.0) == [1, 2, 2 + 17.0 / 76] && top1.last!.1 == 0.4)
        s.stopped = true
        #expect(CurvesPanel.lossSeries(s)[1].points.count == 2, "a stopped run draws only what finished")
    }
}
